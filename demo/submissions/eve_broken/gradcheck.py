# résumé in Latin-1, not UTF-8
import numpy as np
