"""The course: what it is (`model`), its secret (`secret`), its late policy (`late`), the
student stubs generated from its references (`stubs`) and the files of a new exercise
(`scaffold`, `grader new-exercise`).

Trust role: trusted. These modules read the course's own files, never a student's.
"""
