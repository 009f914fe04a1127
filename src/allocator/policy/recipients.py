"""Who an award item pays and the columns its expressions read.

Firms (enterprise and project items) are the rows of the enterprise frame; districts and
chemical parks are groups of firms with each field of the item's ``aggregate`` mapping
aggregated over them. :class:`Columns` is the lazy environment the compiled expressions run
in: a field is converted, a derived name computed, on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.schema import DISTRICTS, FIELD_BY_NAME, Kind
from allocator.policy import expr
from allocator.policy.compile import CompiledItem
from allocator.policy.model import GROUP_KEY

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DATA_FILE = "<enterprise data>"


def text_column(values: npt.NDArray[Any]) -> expr.Text:
    """Text values as the expression language holds them: codes into the distinct values."""
    codes, uniques = pd.factorize(values)
    return expr.Text(codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object))


def _column(frame: pd.DataFrame, name: str) -> npt.NDArray[Any] | expr.Text:
    """A schema field of the frame as the expression language sees it."""
    series = frame[name]
    kind = FIELD_BY_NAME[name].kind
    try:
        if kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST):
            return text_column(strings(series))
        if kind is Kind.BOOL:
            if pd.api.types.is_bool_dtype(series.dtype):
                return series.to_numpy(dtype=np.bool_, na_value=False)
            raise TypeError(series.dtype)
        if kind is Kind.DATE:
            stamps = pd.to_datetime(series)
            ymd = stamps.dt.year * 10000 + stamps.dt.month * 100 + stamps.dt.day
            return ymd.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(
            [
                InputProblem(
                    DATA_FILE,
                    _("column {name} of kind {kind} as the data loader gives it").format(
                        name=repr(name), kind=kind.value
                    ),
                    _("dtype {dtype}").format(dtype=series.dtype),
                    column=name,
                )
            ]
        ) from None


def strings(series: pd.Series) -> npt.NDArray[np.object_]:
    """A text column as an object array, blank (NaN, None) as ``""``."""
    values = series.to_numpy(dtype=object)
    blank = pd.isna(values)
    if blank.any():
        values = values.copy()
        values[blank] = ""
    return values


class Columns:
    """Lazy environment: a field is converted, a derived name computed, on first use."""

    def __init__(
        self,
        n: int,
        fetch: Mapping[str, npt.NDArray[Any] | expr.Text] | FrameFetch,
        derived: Mapping[str, expr.Expression],
    ) -> None:
        self.n = n
        self.fetch = fetch
        self.derived = derived
        self.cache: dict[str, expr.Value] = {}

    def __getitem__(self, name: str) -> expr.Value:
        value = self.cache.get(name)
        if value is None:
            if name in self.derived:
                value = self.derived[name].evaluate(self, self.n)
            else:
                value = self.fetch[name]
            self.cache[name] = value
        return value


class FrameFetch:
    """The enterprise frame's fields, converted for the expression language when fetched."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __getitem__(self, name: str) -> npt.NDArray[Any] | expr.Text:
        return _column(self.frame, name)


class WithParams:
    """An item's scalar parameters in front of the recipients' columns."""

    def __init__(self, base: Columns, params: Mapping[str, expr.Value]) -> None:
        self.base = base
        self.params = params

    def __getitem__(self, name: str) -> expr.Value:
        value = self.params.get(name)
        return self.base[name] if value is None else value


# --- recipients ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    """The recipients of an item and the columns their expressions read.

    ``coded`` holds the claims table's ``recipient_id``, ``recipient_name``, ``district`` and
    ``industry`` of the recipients as codes into their distinct texts; the items paying the
    firms share one of each.
    """

    kind: str
    ids: npt.NDArray[np.object_]
    names: npt.NDArray[np.object_]
    district: npt.NDArray[np.object_]
    industry: npt.NDArray[np.object_]
    firm_row: IntArray
    env: Columns
    coded: Mapping[str, expr.Text]

    @property
    def n(self) -> int:
        return len(self.ids)


def _group_order(kind: str, names: Iterable[str]) -> list[str]:
    present = [str(x) for x in names if str(x)]
    if kind == "district":
        known = [d for d in DISTRICTS if d in present]
        return known + sorted(set(present) - set(known))
    return sorted(present)


def _aggregate(
    how: str, values: npt.NDArray[Any] | expr.Text, group: IntArray, sizes: FloatArray
) -> npt.NDArray[Any]:
    """``how`` of ``values`` over each group (``group`` is -1 for firms in none)."""
    g = len(sizes)
    inside = group >= 0
    grp = group[inside]
    if isinstance(values, expr.Text):
        # only count applies to text: the firms with a value
        known = (values.codes != values.code(""))[inside]
        return np.bincount(grp, weights=known.astype(np.float64), minlength=g)
    x = np.asarray(values)[inside]
    if x.dtype == np.bool_:
        hits = np.bincount(grp, weights=x.astype(np.float64), minlength=g)
        if how == "any":
            return np.asarray(hits > 0)
        if how == "all":
            return np.asarray((hits == sizes) & (sizes > 0))
        return hits  # sum and count: the firms where it is yes
    x = x.astype(np.float64, copy=False)
    known = ~np.isnan(x)
    n_known = np.bincount(grp, weights=known.astype(np.float64), minlength=g)
    if how == "count":
        return n_known
    if how == "sum":
        total = np.bincount(grp, weights=np.where(known, x, 0.0), minlength=g)
        return np.where(n_known > 0, total, np.nan)  # a group with no figure stays blank
    series = pd.Series(x[known]).groupby(grp[known])
    picked = series.min() if how == "min" else series.max()
    return picked.reindex(range(g)).to_numpy(dtype=np.float64, na_value=np.nan)


#: The claims table's recipient columns and the enterprise fields they are taken from.
RECIPIENT_TEXTS = {
    "recipient_id": "credit_code",
    "recipient_name": "name",
    "district": "district",
    "industry": "industry",
}


def firm_texts(base: Mapping[str, npt.NDArray[Any]]) -> dict[str, expr.Text]:
    """The firms' recipient columns, coded once for all the items that pay firms."""
    return {column: text_column(base[field]) for column, field in RECIPIENT_TEXTS.items()}


def firm_recipients(
    kind: str, env: Columns, base: Mapping[str, npt.NDArray[Any]], coded: Mapping[str, expr.Text]
) -> Recipients:
    return Recipients(
        kind=kind,
        ids=base["credit_code"],
        names=base["name"],
        district=base["district"],
        industry=base["industry"],
        firm_row=np.arange(env.n, dtype=np.int64),
        env=env,
        coded=coded,
    )


def group_recipients(
    compiled: CompiledItem, firms: Columns, base: Mapping[str, npt.NDArray[Any]]
) -> Recipients:
    item = compiled.item
    key_field = GROUP_KEY[item.recipient]
    keys = base[key_field]
    order = _group_order(item.recipient, pd.unique(keys))
    position = {name: k for k, name in enumerate(order)}
    group = (
        pd.Series(keys).map(position).to_numpy(dtype=np.float64, na_value=np.nan)
        if len(keys)
        else np.empty(0)
    )
    group_idx = np.where(np.isnan(group), -1, group).astype(np.int64)
    g = len(order)
    sizes = np.bincount(group_idx[group_idx >= 0], minlength=g).astype(np.float64)
    columns: dict[str, npt.NDArray[Any] | expr.Text] = {
        name: _aggregate(how, firms[name], group_idx, sizes) for name, how in item.aggregate.items()
    }
    names = np.asarray(order, dtype=object)
    columns[key_field] = text_column(names)
    if item.recipient == "district":
        district = names
    else:
        # a park's district, when all its firms share one
        district = np.full(g, "", dtype=object)
        firm_district = base["district"]
        for k in range(g):
            found = pd.unique(firm_district[group_idx == k])
            if len(found) == 1:
                district[k] = found[0]
    env = Columns(g, columns, compiled.derived)
    industry = np.full(g, "", dtype=object)
    named = text_column(names)
    return Recipients(
        kind=item.recipient,
        ids=names,
        names=names,
        district=district,
        industry=industry,
        firm_row=np.full(g, -1, dtype=np.int64),
        env=env,
        coded={
            "recipient_id": named,
            "recipient_name": named,
            "district": text_column(district),
            "industry": text_column(industry),
        },
    )


__all__ = [
    "DATA_FILE",
    "RECIPIENT_TEXTS",
    "Columns",
    "FrameFetch",
    "Recipients",
    "WithParams",
    "firm_recipients",
    "firm_texts",
    "group_recipients",
    "strings",
    "text_column",
]
