"""The course: what it is (`model`), its secret (`secret`), its late policy (`late`) and the
student stubs generated from its references (`stubs`).

Trust role: trusted. These modules read the course's own files, never a student's.
"""
