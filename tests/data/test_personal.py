"""Personal details masked as the history is pulled (`report.mask_personal`)."""

import pandas as pd
import pytest

from churn.data import mask_emails, mask_history, mask_names, mask_phones


def test_mask_functions():
    names = mask_names(pd.Series(["Renji Hospital 42", "王明", None, "  "], dtype="string"))
    assert names.tolist()[:2] == ["R*** H*** 4***", "王***"] and names.isna().iat[2] and names.iat[3] == "***"
    assert mask_emails(pd.Series(["jane.doe@renji.example.cn", "nobody"])).tolist() == ["j***@***.cn", "n***@***"]
    assert mask_phones(pd.Series(["+86 21 6438 5521", None])).tolist()[0] == "***21"


@pytest.mark.parametrize("mask, value", [(mask_names, "Renji Hospital 42"), (mask_emails, "jane.doe@renji.example.cn"),
                                         (mask_phones, "+86 21 6438 5521")])
def test_masking_a_masked_value_changes_nothing(mask, value):
    once = mask(pd.Series([value]))
    assert mask(once).tolist() == once.tolist()


def _history():
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["Renji Hospital", "瑞金医院"], "owner": ["AM-01 Wang Ming", "AM-02"],
        "segment": ["hospital", "hospital"], "contact_name": ["Li Xiaoyu", "王明"],
        "email": ["li.xiaoyu@renji.example.cn", None], "phone": ["+86 21 6438 5521", "13912345678"],
        "手机": ["13800001111", None], "Buyer Name": ["Zhou Fang", "陈静"], "Credit Limit": [1000.5, 2000.0]})
    tickets = pd.DataFrame({
        "customer_id": ["C1", "C2", "C2"], "ts": pd.to_datetime(["2024-03-05", "2024-03-06", "2024-03-07"]),
        "category": ["quality", "service", "price"],
        "note": ["Li Xiaoyu (li.xiaoyu@renji.example.cn, +86 21 6438 5521) reported a broken seal on 2024-03-05",
                 "王明来电 13912345678, 瑞金医院 asks for a visit", None]})
    return {"customers": customers, "tickets": tickets}


def test_history_masking_leaves_no_detail_and_keeps_the_rest():
    history = _history()
    masked, what = mask_history(history)
    text = "\n".join(df.astype("string").fillna("").to_csv() for df in masked.values())
    for detail in ("Renji", "瑞金", "Xiaoyu", "王明", "li.xiaoyu", "renji.example", "6438", "13912345678",
                   "13800001111", "Zhou", "陈静"):
        assert detail not in text, detail
    customers, tickets = masked["customers"], masked["tickets"]
    assert customers["name"].tolist() == ["R*** H***", "瑞***"]
    assert customers["phone"].tolist() == ["***21", "***78"] and customers["手机"].iat[0] == "***11"
    assert customers["email"].iat[0] == "l***@***.cn" and customers["email"].isna().iat[1]
    # ids, owners (staff), categories, dates and numbers are not personal details
    for column in ("customer_id", "owner", "segment", "Credit Limit"):
        assert customers[column].tolist() == history["customers"][column].tolist()
    assert tickets[["customer_id", "ts", "category"]].equals(history["tickets"][["customer_id", "ts", "category"]])
    assert tickets["note"].iat[0] == "L*** X*** (l***@***.cn, ***21) reported a broken seal on 2024-03-05"
    assert tickets["note"].iat[1] == "王***来电 ***78, 瑞*** asks for a visit" and tickets["note"].isna().iat[2]
    assert what == {"customers": ["name", "contact_name", "email", "phone", "手机", "Buyer Name"],
                    "tickets": ["note (free text)"]}


def test_history_masking_does_not_change_its_input():
    history = _history()
    before = {name: df.copy() for name, df in history.items()}
    mask_history(history)
    for name, df in history.items():
        pd.testing.assert_frame_equal(df, before[name])
