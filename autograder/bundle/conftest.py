"""What `python -m pytest` adds at the end of the public checks: how to check one homework,
and that written answers are graded by a person."""


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "只检查一个作业 / to check one homework: python -m pytest -k hw2   (或 / or: nnhw check assignments/hw2_logistic)")
    terminalreporter.write_line(
        "这些只是公开检查；简答题由助教批改，隐藏测试会检查更多情况。/ These are the public checks only: written answers "
        "are graded by a TA, and hidden tests grade more.")
