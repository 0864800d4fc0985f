"""CSV for the statistics: `Accept: text/csv` or `?format=csv`.

A one-way table is one line per row, then the total with an empty key. A
cross-table is long ("tidy"): one line per cell, then the row totals (empty
column key), the column totals (empty row key) and the grand total (both
empty), which spreadsheets and data-frame libraries pivot as they like.
A suppressed number is an empty field, and the line's `suppressed` is `true`.
Above the header, `# name: value` lines say what the table is: the registry,
the release (or live), the statuses counted, the filters, the threshold, the
protection, when the data was fixed and the one-line provenance
(`api.provenance`). Readers skip them with `comment="#"` (pandas) or by
dropping lines that start with `#` (csv).
"""

import csv
import io
import json

from rest_framework.renderers import BaseRenderer

from api.provenance import csv_header

# Spreadsheets run a field starting with these as a formula; labels never need them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    """Statistics tables as text/csv; error documents stay JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return json.dumps(data).encode()
        if isinstance(data, dict) and "presentations" in data:
            lines = profile_lines(data)
        elif isinstance(data, dict) and "time_points" in data:
            lines = survival_lines(data)
        elif _is_table(data):
            lines = crosstab_lines(data) if "columns" in data else table_lines(data)
        else:
            return json.dumps(data).encode()
        out = io.StringIO()
        out.writelines(line + "\r\n" for line in csv_header(data))
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerows([_safe(value) for value in line] for line in lines)
        return out.getvalue().encode()


def _is_table(data) -> bool:
    return isinstance(data, dict) and "rows" in data and "total" in data


def table_lines(data: dict) -> list[list]:
    """Header, one line per row, then the total (key left empty)."""
    numbers = [name for name in data["total"] if name not in ("label", "suppressed")]
    header = ["key", "label", *numbers, "suppressed"]
    lines = [header]
    for row in data["rows"]:
        lines.append([row["key"], row["label"], *(row[n] for n in numbers), row["suppressed"]])
    total = data["total"]
    lines.append(["", total["label"], *(total[n] for n in numbers), total["suppressed"]])
    return lines


def crosstab_lines(data: dict) -> list[list]:
    """Header, one line per cell, then row totals, column totals and the grand total."""
    labels = {column["key"]: column["label"] for column in data["columns"]}
    lines = [["row_key", "row_label", "col_key", "col_label", "cases", "suppressed"]]
    for row in data["rows"]:
        for cell in row["cells"]:
            lines.append(_cell_line(row["key"], row["label"], cell["key"], labels, cell))
    for row in data["rows"]:
        lines.append(_cell_line(row["key"], row["label"], "", labels, row["total"]))
    for column in data["column_totals"]:
        lines.append(_cell_line("", "Total", column["key"], labels, column))
    lines.append(_cell_line("", "Total", "", labels, data["total"]))
    return lines


def survival_lines(data: dict) -> list[list]:
    """Header, then one line per point of each curve: the overall one first (key `all`)."""
    figures = ("months", "at_risk", "survival", "lower", "upper", "deaths", "censored")
    lines = [["group_key", "group_label", *figures]]
    groups = ([data["overall"]] if data["overall"] else []) + data["groups"]
    for group in groups:
        for point in group["points"]:
            lines.append(
                [
                    group["key"],
                    group["label"],
                    *(point[n] for n in figures),
                ]
            )
    return lines


def profile_lines(data: dict) -> list[list]:
    """A site profile in long form: one line per figure, `part,key,label,measure,value,suppressed`.

    Its parts have different shapes (counts, a proportion, quartiles, a survival
    curve), so each figure is a line naming its part and measure, which
    spreadsheets filter and data-frame libraries pivot.
    """
    lines = [["part", "key", "label", "measure", "value", "suppressed"]]
    suppressed = data["cases"] is None
    lines.append(["cases", data["site"], data["label"], "cases", data["cases"], suppressed])
    for part, name in (
        ("subtype", "subtypes"),
        ("presentation", "presentations"),
        ("misdiagnosis", "misdiagnoses"),
        ("confirmation", "confirmations"),
        ("treatment", "treatments"),
    ):
        for row in data[name]:
            lines.append([part, row["key"], row["label"], "cases", row["cases"], row["suppressed"]])
    misdiagnosed = data["misdiagnosed"]
    for measure in ("cases", "of", "share", "lower", "upper"):
        value = misdiagnosed[measure]
        lines.append(["misdiagnosed", "", "First taken for another", measure, value, value is None])
    months = data["months_to_metastasis"]
    if months is not None:
        for measure in ("cases", "metastases", "median", "q1", "q3", "share_synchronous"):
            label = months["label"]
            lines.append(
                ["months_to_metastasis", "", label, measure, months[measure], months["suppressed"]]
            )
    labels = {column["key"]: column["label"] for column in data["responses"]["columns"]}
    for row in data["responses"]["rows"]:
        for cell in row["cells"]:
            key = f"{row['key']}:{cell['key']}"
            label = f"{row['label']}: {labels[cell['key']]}"
            lines.append(["response", key, label, "cases", cell["cases"], cell["suppressed"]])
    survival = data["survival"]
    if survival is not None:
        for point in survival["points"]:
            for measure in ("at_risk", "survival", "lower", "upper"):
                value = point[measure]
                lines.append(
                    ["survival", point["months"], survival["label"], measure, value, value is None]
                )
    return lines


def _cell_line(row_key, row_label, col_key, labels, cell) -> list:
    col_label = labels[col_key] if col_key else "Total"
    return [row_key, row_label, col_key, col_label, cell["cases"], cell["suppressed"]]


def _safe(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
