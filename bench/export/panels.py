"""Small typed helpers over grafana-foundation-sdk: PromQL snippets, panels, variables, annotations.

Every panel of the generated dashboards is built here, so the conventions hold everywhere:
the Prometheus datasource by uid, live panels as range queries over `$__rate_interval`,
Pushgateway panels as instant queries in table format (one bar per case, one series per run).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, heatmap, prometheus, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prom_model

from bench.export import metric_names as n
from bench.report.constants import LagStage

DATASOURCE_UID = "prometheus"
"""The uid of the Prometheus datasource (provisioned by compose, created by `grafana push`)."""
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
GRAFANA_ANNOTATIONS = model.DataSourceRef(type_val="grafana", uid="-- Grafana --")
RATE = "$__rate_interval"
TAG = "cqrs-bench"
"""Every dashboard and every annotation this project creates carries this tag."""
RUN_TAG = "run"
FAULT_TAG = "fault"

PROJECTION_VAR = "projection"
SCENARIO_VAR = "scenario"
RUN_VAR = "run_id"
STAGE_VAR = "stage"
VARIABLES: tuple[str, ...] = (PROJECTION_VAR, SCENARIO_VAR, RUN_VAR)
"""Template variables every dashboard has."""

SERVICE_DOWN = 'up{job!="locust"} == 0'
"""A scraped service Prometheus could not reach (locust's exporter is down between runs)."""


def match(var: str) -> str:
    """A label matcher value for a multi-value variable (`=~"$var"`)."""
    return f'=~"${var}"'


def rate(metric: str, selector: str = "") -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])"


def quantile(q: float, histogram: str, by: str, selector: str = "") -> str:
    """`histogram_quantile` of a histogram's buckets, summed by `le` and `by`."""
    keep = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({keep}) ({rate(histogram + '_bucket', selector)}))"


def pushed(metric: str, job: str, selector: str = "") -> str:
    """A Pushgateway metric of the selected runs."""
    extra = f", {selector}" if selector else ""
    return f'{metric}{{job="{job}", {RUN_VAR}{match(RUN_VAR)}{extra}}}'


def by_case(expr: str, labels: tuple[str, ...]) -> str:
    """One row per (case, run): `case` joins `labels` (e.g. `1000,off`) so a bar chart can use
    it as its x axis."""
    joined = ", ".join(f'"{label}"' for label in labels)
    return f'max by (case, {RUN_VAR}) (label_join({expr}, "case", ",", {joined}))'


def range_query(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .range()
        .ref_id(ref)
        .datasource(DATASOURCE)
    )


def instant_table(expr: str, ref: str = "A") -> prometheus.Dataquery:
    """An instant query in table format: the latest value of each pushed series, one row each."""
    return (
        prometheus.Dataquery()
        .expr(expr)
        .instant()
        .format(prom_model.PromQueryFormat.TABLE)
        .ref_id(ref)
        .datasource(DATASOURCE)
    )


def timeseries_panel(
    title: str, unit: str, queries: list[tuple[str, str]], description: str = ""
) -> timeseries.Panel:
    """A time series of range queries; `queries` holds (PromQL, legend) pairs."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(12)
    )
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(range_query(expr, legend, chr(ord("A") + i)))
    return panel


def heatmap_panel(title: str, expr: str, description: str = "") -> heatmap.Panel:
    """A heatmap of a histogram's per-interval bucket increases (Prometheus heatmap format)."""
    query = (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format("{{le}}")
        .range()
        .format(prom_model.PromQueryFormat.HEATMAP)
        .ref_id("A")
        .datasource(DATASOURCE)
    )
    return (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query)
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(n.UNIT_SECONDS))
        .cell_values(heatmap.CellValues().unit(n.UNIT_COUNT))
        .color(heatmap.HeatmapColorOptions().scheme("Oranges").steps(64))
        .height(8)
        .span(12)
    )


def run_bars(title: str, unit: str, expr: str, description: str = "") -> barchart.Panel:
    """Bars of pushed figures: `expr` (see `by_case`) as an instant table query, pivoted to one
    row per case and one column (series) per run id."""
    pivot = model.DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"columnField": RUN_VAR, "rowField": "case", "valueField": "Value"},
    )
    return (
        barchart.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .with_target(instant_table(expr))
        .with_transformation(pivot)
        .x_tick_label_rotation(-30)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .show_value(common.VisibilityMode.AUTO)
        .height(9)
        .span(12)
    )


def runs_table(title: str, columns: list[tuple[str, str]], description: str = "") -> table.Panel:
    """A table of pushed figures, one row per run: each (PromQL, column title) is an instant
    table query, merged on their common labels."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .height(8)
        .span(24)
    )
    renames = {f"Value #{chr(ord('A') + i)}": name for i, (_, name) in enumerate(columns)}
    panel = panel.with_transformation(
        model.DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": {"Time": True}, "renameByName": renames},
        )
    )
    for i, (expr, _) in enumerate(columns):
        panel = panel.with_target(instant_table(expr, chr(ord("A") + i)))
    return panel


def row(title: str) -> db.Row:
    return db.Row(title)


def query_variable(name: str, label: str, query: str) -> db.QueryVariable:
    """A multi-value variable from `label_values(...)`, `All` meaning any value (`.*`)."""
    return (
        db.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(DATASOURCE)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(model.VariableOption(selected=True, text="All", value="$__all"))
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_DESC)
    )


def standard_variables() -> list[cogbuilder.Builder[model.VariableModel]]:
    """Projection, scenario and run id: live metrics and pushed results both carry them."""
    return [
        query_variable(
            PROJECTION_VAR,
            "Projection",
            "label_values({__name__=~"
            f'"{n.PROJECTION_POSITION}|{n.PROJECTION_EVENTS_TOTAL}|{n.LAG_PUSHED}"}}, projection)',
        ),
        query_variable(
            SCENARIO_VAR,
            "Scenario",
            f'label_values({{__name__=~"{n.LOAD_REQUESTS_TOTAL}|{n.LOAD_ACHIEVED_RPS_PUSHED}"}},'
            " scenario)",
        ),
        query_variable(RUN_VAR, "Run", f"label_values({n.RUN_TIMESTAMP}, {RUN_VAR})"),
    ]


def stage_variable() -> db.CustomVariable:
    """The lag stage a heatmap shows (the projector's histogram stages)."""
    return (
        db.CustomVariable(STAGE_VAR)
        .label("Stage (heatmap)")
        .values(",".join(n.HISTOGRAM_LAG_STAGES))
        .current(
            model.VariableOption(selected=True, text=LagStage.END_TO_END, value=LagStage.END_TO_END)
        )
    )


class PrometheusAnnotation(model.AnnotationQuery):
    """An annotation query on a Prometheus metric, with the title and tag fields the SDK's
    generic AnnotationQuery lacks."""

    def __init__(self, name: str, expr: str, title: str, color: str, tag_keys: str) -> None:
        super().__init__(name=name, datasource=DATASOURCE, enable=True, icon_color=color, expr=expr)
        self.title_format = title
        self.tag_keys = tag_keys

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload.update({"titleFormat": self.title_format, "tagKeys": self.tag_keys, "step": "15s"})
        return payload


class Built(cogbuilder.Builder[model.AnnotationQuery]):
    """Wraps an already built annotation so the dashboard builder accepts it."""

    def __init__(self, annotation: model.AnnotationQuery) -> None:
        self._annotation = annotation

    def build(self) -> model.AnnotationQuery:
        return self._annotation


def annotation_queries() -> list[cogbuilder.Builder[model.AnnotationQuery]]:
    """Runs and faults: Grafana annotations posted by `annotate` (by tag), a service that
    Prometheus saw down (`up == 0`, the mark a killed service leaves), and each pushed run."""

    def by_tags(name: str, tags: list[str], color: str) -> db.AnnotationQuery:
        target = db.AnnotationTarget().type("tags").tags(tags).match_any(False).limit(100)
        return (
            db.AnnotationQuery()
            .name(name)
            .datasource(GRAFANA_ANNOTATIONS)
            .enable(True)
            .icon_color(color)
            .type("tags")
            .target(target)
        )

    new_push = (
        f"{n.RUN_TIMESTAMP}{{{RUN_VAR}{match(RUN_VAR)}}}"
        f" unless ({n.RUN_TIMESTAMP}{{{RUN_VAR}{match(RUN_VAR)}}} offset 1m)"
    )
    return [
        by_tags("Runs", [TAG, RUN_TAG], "blue"),
        by_tags("Faults", [TAG, FAULT_TAG], "red"),
        Built(PrometheusAnnotation("Service down", SERVICE_DOWN, "{{job}} down", "orange", "job")),
        Built(
            PrometheusAnnotation(
                "Results pushed", new_push, "{{run_id}} pushed", "purple", "job,suite"
            )
        ),
    ]


def dashboard(uid: str, title: str, description: str) -> db.Dashboard:
    """A dashboard with this project's tag, variables, annotations and a live refresh."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time("now-30m", "now")
        .refresh("5s")
        .timezone("browser")
        .readonly()
        .variables(standard_variables())
        .annotations(annotation_queries())
    )


PROJECTION = f"projection{match(PROJECTION_VAR)}"
"""The selected projections (a label matcher)."""
SCENARIO = f"scenario{match(SCENARIO_VAR)}"
"""The selected scenarios (a label matcher)."""


def percentile_lines(histogram: str, by: str, selector: str, legend: str) -> list[tuple[str, str]]:
    """(PromQL, legend) for each of the dashboards' percentiles of `histogram`."""
    return [
        (quantile(q, histogram, by, selector), f"{key} {legend}".strip())
        for key, q in n.DASHBOARD_QUANTILES
    ]
