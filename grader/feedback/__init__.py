"""Feedback for students: a check's results as a terminal table or HTML (`student_report`).

Trust role: text from student code reaches it through grader.printable only.
"""
