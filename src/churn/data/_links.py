"""Records that name their customer by account name (CRM exports: 客户名称, Account Name) linked to its id."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from churn.data._validate import ContractError


def link_customers_by_name(tables: dict[str, pd.DataFrame], by_name: Iterable[str],
                           shown: Callable[[str], str] = str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The tables with `customer_id` turned from account names into the customers' ids, and a note per table.

    Names are matched as the customers table writes them, ignoring case and runs of spaces. A name that matches
    no customer, or two customers sharing it, stays as it is: validation then sets the row aside as an unknown
    customer_id, counted and kept with its value; the note says how many rows and which names (`shown` masks
    them when personal details are masked)."""
    by_name = [name for name in by_name if name in tables]
    if not by_name:
        return tables, []
    customers = tables.get("customers")
    if customers is None or "name" not in customers.columns:
        raise ContractError(f"{', '.join(by_name)} name customers by account name (customer_by: name), but the "
                         "customers table has no name column to find them in: map customers.name")
    keys = name_key(customers["name"])
    ids = customers["customer_id"].astype("string")
    owners = pd.DataFrame({"key": keys, "id": ids}).dropna().drop_duplicates()
    counts = owners["key"].value_counts()
    unique = owners[owners["key"].map(counts).eq(1)].set_index("key")["id"]
    shared = set(counts[counts > 1].index)
    out, notes = dict(tables), []
    for name in by_name:
        frame = tables[name].copy()
        named = frame["customer_id"].astype("string")
        key = name_key(named)
        found = key.map(unique)
        frame["customer_id"] = found.fillna(named).astype("string")
        out[name] = frame
        unmatched = named[named.notna() & found.isna()]
        two = unmatched[key[unmatched.index].isin(shared)]
        none = unmatched.drop(two.index)
        parts = [f"{name}: {int(found.notna().sum()):,} row(s) linked to their customer by account name"]
        for rows, what in ((none, "matches no customer"), (two, "two or more customers share")):
            if len(rows):
                examples = ", ".join(repr(shown(v)) for v in rows.drop_duplicates().head(3))
                parts.append(f"{len(rows):,} row(s) name an account that {what} ({rows.nunique():,} name(s): "
                             f"{examples}); set aside by validation as unknown customer_id")
        notes.append("; ".join(parts))
    return out, notes


def name_key(names: pd.Series) -> pd.Series:
    """Account names as they are matched: without surrounding spaces and runs of spaces, case folded."""
    return names.astype("string").str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
