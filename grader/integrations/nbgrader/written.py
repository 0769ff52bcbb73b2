"""The written parts of the course: prompts and model answers of the hand-graded cells.

Trusted: it reads the course's own files. Each part is a course file,
`solutions/written/<exercise>/<part>.toml` (`kind` "markdown" or "code", `prompt`, `answer`),
read by grader.course.model; its points are in course_config.py ("written"). `grader release
nbgrader` turns each part into a prompt (read-only markdown) and a manually graded answer
cell. The model answer is in the instructor's source notebook only: nbgrader replaces it with
"YOUR ANSWER HERE" (markdown) or with the scaffold around `### BEGIN SOLUTION` (code) in the
released notebook, and solutions/ itself is never released.
"""

from __future__ import annotations

from grader.course.model import Course, WrittenPart, load_course

__all__ = ["WrittenPart", "parts_for"]


def parts_for(exercise_id: str, course: Course | None = None) -> tuple[WrittenPart, ...]:
    """The written parts of EXERCISE_ID in COURSE (default: the process course), in the order
    course_config.py lists them; a CourseError names a missing or malformed file."""
    return (course or load_course()).written_parts(exercise_id)
