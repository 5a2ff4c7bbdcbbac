"""The console's sentences built from a run's results."""

import pytest

from churn.console import cause_method_line

LEARNT = {"customers": 412, "judged": {"used": True},
          "holdout": {"chosen": "known_causes", "why": "on the 85 lost customers ... 81.2% right, ... 77.6%"}}
EVIDENCE = {"customers": 412, "judged": {"used": True},
            "holdout": {"chosen": "evidence", "why": "on the 85 lost customers ... 70.0% right, ... 77.6%"}}
NONE = {"customers": 0, "used": False, "why": "0 lost customers with a recorded cause (at least 100 needed)",
        "judged": {"used": False}, "holdout": {"chosen": "evidence", "why": "no cause model"}}


@pytest.mark.parametrize("causes, expected", [
    (LEARNT, "Loss causes: learnt from the recorded reasons of 412 lost customers (on the 85 lost customers"),
    (EVIDENCE, "Loss causes: the evidence method (on the 85 lost customers ... 70.0% right"),
    (NONE, "Loss causes: the evidence method (no cause model: 0 lost customers with a recorded cause"),
])
def test_the_training_summary_says_how_causes_are_named_and_why(causes, expected):
    assert cause_method_line(causes).startswith(expected)
