"""The ``sensitivity`` section of a scenario: how ``allocate sensitivity`` moves the assumptions.

Every key is optional; the command line's options win over the file. docs/analysis.md
explains the analysis; the addresses in ``ranges`` are checked against the model by
:mod:`allocator.pipeline.sensitivity`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

Number = Annotated[int, Strict()] | Annotated[float, Strict()]
Multiple = Annotated[float, Field(strict=False, gt=0, allow_inf_nan=False)]
# Each variant is a full solve: beyond this, a sample is a typo more often than a plan.
MAX_SAMPLES = 1000


class ParamRange(BaseModel):
    """The range one parameter moves over: ``low`` and ``high`` values, or a ``scale``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: Number | None = Field(
        None, description="Lowest value, for a number parameter or budget_wan (with high)"
    )
    high: Number | None = Field(
        None, description="Highest value, for a number parameter or budget_wan (with low)"
    )
    scale: tuple[Multiple, Multiple] | None = Field(
        None,
        description="Lowest and highest multiple of the value, e.g. [0.5, 1.5]; for any "
        "parameter, lists and tables included (a stepped table's amounts, not its thresholds)",
    )

    @model_validator(mode="after")
    def _one_way(self) -> ParamRange:
        values = self.low is not None or self.high is not None
        if values == (self.scale is not None):
            raise ValueError("either low and high, or scale, not both and not neither")
        if values and (self.low is None or self.high is None):
            raise ValueError("both low and high")
        if values and self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low below high (found low {self.low}, high {self.high})")
        if self.scale is not None and self.scale[0] >= self.scale[1]:
            raise ValueError(f"a scale [lowest, highest] rising (found {list(self.scale)})")
        return self


class Sensitivity(BaseModel):
    """How a sensitivity analysis moves the model's assumed parameters and the budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spread: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Default range of every parameter: from (1 − spread) to (1 + spread) "
        "times its value; 0.2 for ±20%",
    )
    samples: int = Field(
        50,
        ge=0,
        le=MAX_SAMPLES,
        description="Joint variants: samples of every varied parameter at once (Latin "
        "hypercube); 0 for none",
    )
    seed: int = Field(0, ge=0, description="Seed of the joint samples, for a reproducible draw")
    include_document: bool = Field(
        False,
        description="Vary the parameters the document states too, not only the assumed ones",
    )
    ranges: dict[str, ParamRange] = Field(
        default_factory=dict,
        description="Parameter address ('<clause>/<item>/<name>') or budget_wan → its range; "
        "a document parameter named here is varied",
    )
    only_ranges: bool = Field(
        False, description="Vary only the parameters named in ranges, not every assumed one"
    )


__all__ = ["MAX_SAMPLES", "ParamRange", "Sensitivity"]
