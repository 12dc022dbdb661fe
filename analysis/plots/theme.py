"""One theme and one set of display labels for every figure of the report."""

from __future__ import annotations

from plotnine import element_blank, element_line, element_rect, element_text, theme, theme_bw

#: Font with the glyphs the figures use (tau², I², ±, arrows); installed with matplotlib too.
FONT_FAMILY = "DejaVu Sans"
BASE_SIZE = 9

#: Short display names of the outcome vocabulary (analysis/schema/raw_tables.yaml).
OUTCOME_LABELS = {
    "bmd_lumbar_spine": "Lumbar spine BMD",
    "bmd_femoral_neck": "Femoral neck BMD",
    "bmd_total_hip": "Total hip BMD",
    "bmd_trochanter": "Trochanter BMD",
    "bmd_total_body": "Total body BMD",
    "bmd_radius": "Radius BMD",
    "bmd_site_not_stated": "BMD, site not stated",
    "bmc_total_body": "Total body BMC",
    "vbmd_trabecular_spine": "Trabecular spine vBMD",
    "vbmd_spine": "Spine vBMD (QCT)",
    "vbmd_trabecular_radius": "Trabecular radius vBMD",
    "bmc_distal_tibia": "Distal tibia BMC",
    "metacarpal_index": "Metacarpal index",
    "bone_age": "Bone age",
    "height": "Height",
    "testosterone": "Testosterone",
    "estradiol": "Estradiol",
    "ctx": "CTX",
    "ntx": "NTX",
    "p1np": "P1NP",
    "osteocalcin": "Osteocalcin",
    "bsap": "Bone-specific ALP",
    "dpd": "Deoxypyridinoline",
    "pyd": "Pyridinoline",
    "lh": "LH",
    "fsh": "FSH",
    "shbg": "SHBG",
}

#: Display names of the evidence lines, in the order the report shows them.
LINE_LABELS = {
    "ai_older_men": "Aromatase inhibitor vs placebo, adult and older men",
    "ai_boys": "Aromatase inhibitor in boys",
    "estrogen_aromatase_deficiency": "Estrogen in men with aromatase deficiency",
    "other": "Other controlled studies",
}

#: Short names for table columns.
LINE_SHORT = {
    "ai_older_men": "AI, adult/older men",
    "ai_boys": "AI, boys",
    "estrogen_aromatase_deficiency": "Estrogen, aromatase deficiency",
    "other": "Other controlled",
}

JUDGEMENT_COLOURS = {
    "low": "#2e9e44",
    "some_concerns": "#e6b800",
    "high": "#d62728",
    "unclear": "#8c8c8c",
    "moderate": "#e6b800",
    "serious": "#d62728",
    "critical": "#7b0d0d",
    "no_information": "#8c8c8c",
}

LINE_COLOURS = {
    "ai_older_men": "#1f77b4",
    "ai_boys": "#9467bd",
    "estrogen_aromatase_deficiency": "#d95f02",
    "other": "#7f7f7f",
}


def outcome_label(outcome: str) -> str:
    """Display name of an outcome code (the code itself, de-underscored, if unknown)."""
    return OUTCOME_LABELS.get(outcome, str(outcome).replace("_", " "))


def line_label(line: str) -> str:
    """Display name of an evidence-line code (the code itself, de-underscored, if unknown)."""
    return LINE_LABELS.get(line, str(line).replace("_", " "))


def line_short(line: str) -> str:
    """Short display name of an evidence line, for narrow table columns."""
    return LINE_SHORT.get(line, line_label(line))


def line_order(lines) -> list[str]:
    """Evidence lines in report order: the known ones first, then the rest sorted."""
    present = list(dict.fromkeys(str(x) for x in lines))
    known = [line for line in LINE_LABELS if line in present]
    return known + sorted(set(present) - set(known))


def theme_report(base_size: float = BASE_SIZE):
    """Return the report's plotnine theme: white, quiet grid, one sans-serif font.

    Parameters
    ----------
    base_size : float
        Base font size in points; titles and strips are scaled from it.

    Returns
    -------
    plotnine.themes.theme
        ``theme_bw`` with the report's font, sizes and lighter grid.
    """
    return theme_bw(base_size=base_size, base_family=FONT_FAMILY) + theme(
        text=element_text(family=FONT_FAMILY, size=base_size, color="#222222"),
        plot_title=element_text(size=base_size + 2, weight="bold", ha="left"),
        plot_subtitle=element_text(size=base_size, ha="left", color="#444444"),
        plot_caption=element_text(size=base_size - 1.5, ha="left", color="#444444"),
        strip_background=element_rect(fill="#eeeeee", color="#cccccc"),
        strip_text=element_text(size=base_size, weight="bold"),
        panel_grid_minor=element_blank(),
        panel_grid_major=element_line(color="#e6e6e6", size=0.4),
        legend_position="bottom",
        legend_title=element_text(size=base_size),
        legend_key=element_blank(),
    )


def plain(text: object, max_chars: int | None = None) -> str:
    """Text from data made safe for matplotlib: ``$`` would start mathtext, so escape it.

    Long labels are shortened to ``max_chars`` with an ellipsis so they do not overrun columns.
    """
    s = str(text)
    if max_chars is not None and len(s) > max_chars:
        s = s[: max_chars - 1] + "…"
    return s.replace("$", r"\$")
