"""The console's sentences built from a run's results."""

import pytest

from churn.console import calibration_line, cause_method_line

LEARNT = {"customers": 412, "judged": {"used": True},
          "holdout": {"chosen": "known_causes", "why": "on the 85 lost customers ... 81.2% right, ... 77.6%"}}
EVIDENCE = {"customers": 412, "judged": {"used": True},
            "holdout": {"chosen": "evidence", "why": "on the 85 lost customers ... 70.0% right, ... 77.6%"}}
NONE = {"customers": 0, "used": False, "why": "0 lost customers with a recorded cause (at least 100 needed)",
        "judged": {"used": False}, "holdout": {"chosen": "evidence", "why": "no cause model"}}


WEIGHED = LEARNT | {"holdout": LEARNT["holdout"] | {"with_evidence": True}}
COMPLAINED = {"customers": 640, "used": True, "why": "learnt from 640 lost customers who complained about one cause most"}
TOO_FEW = {"customers": 12, "used": False, "why": "12 lost customers who complained about one cause most (at least 100 "
                                                  "needed)"}


@pytest.mark.parametrize("causes, expected", [
    (LEARNT, "Loss causes: learnt from the recorded reasons of 412 lost customers (on the 85 lost customers"),
    (WEIGHED, "Loss causes: learnt from the recorded reasons of 412 lost customers, weighed with the evidence method "
              "(on the 85"),
    (EVIDENCE, "Loss causes: the evidence method (on the 85 lost customers ... 70.0% right"),
    (NONE, "Loss causes: the evidence method (no cause model: 0 lost customers with a recorded cause"),
    (WEIGHED | {"complaints": COMPLAINED}, "Loss causes: learnt from the recorded reasons of 412 lost customers, "
     "weighed with the evidence method and with what 640 lost customers complained about (on the 85"),
    (EVIDENCE | {"complaints": COMPLAINED}, "Loss causes: the evidence method, weighed with what 640 lost customers "
     "complained about (on the 85"),
    (NONE | {"complaints": COMPLAINED}, "Loss causes: the evidence method, weighed with what 640 lost customers "
     "complained about (no cause model: 0 lost customers"),
])
def test_the_training_summary_says_how_causes_are_named_and_why(causes, expected):
    assert cause_method_line(causes).startswith(expected)


@pytest.mark.parametrize("causes", [WEIGHED, EVIDENCE, NONE])
def test_the_training_summary_says_why_there_is_no_cause_model_from_complaints(causes):
    line = cause_method_line(causes | {"complaints": TOO_FEW})
    assert "complained about (" not in line
    assert line.endswith(" No cause model from complaints: 12 lost customers who complained about one cause most (at "
                         "least 100 needed).")
    assert "complaints" not in cause_method_line(causes)  # (explain.from_complaints off: nothing to say)


@pytest.mark.parametrize("data, expected", [
    ({"calibration": {"on": "held_out_customers", "share": 0.1, "examples": 740_112, "fit_examples": 6_682_587}},
     "Calibrated on 740,112 examples of 10% of the customers, held out of the fit (6,682,587 examples)"),
    ({"calibration": {"on": "out_of_fold", "folds": 3, "examples": 900, "fit_examples": 900}}, None),
    ({}, None),
])
def test_the_training_summary_says_when_a_fit_was_calibrated_on_held_out_customers(data, expected):
    line = calibration_line(data)
    assert line == expected if expected is None else line.startswith(expected)
