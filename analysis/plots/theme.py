"""One theme and one set of display labels for every figure of the report."""

from __future__ import annotations

from plotnine import element_blank, element_line, element_rect, element_text, theme, theme_bw

#: Font with the glyphs the figures use (tau², I², ±, arrows); installed with matplotlib too.
FONT_FAMILY = "DejaVu Sans"
BASE_SIZE = 8

#: Short display names of the outcome vocabulary (analysis/schema/raw_tables.yaml).
OUTCOME_LABELS = {
    "bmd_lumbar_spine": "Lumbar spine BMD",
    "bmd_femoral_neck": "Femoral neck BMD",
    "bmd_total_hip": "Total hip BMD",
    "bmd_trochanter": "Trochanter BMD",
    "bmd_total_body": "Total body BMD",
    "bmd_radius": "Radius BMD",
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

#: Colour-blind-safe marks (Okabe & Ito 2008), each with a contrast of at least 3:1 on white
#: (WCAG 2.1 non-text contrast); always paired with :data:`SHAPES`, so no figure relies on
#: colour alone. Order: blue, vermillion, bluish green, reddish purple, black.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000")
#: Marker shapes (matplotlib codes) paired with :data:`PALETTE` position by position.
SHAPES = ("o", "s", "^", "D", "v")

JUDGEMENT_COLOURS = {
    "low": "#009E73",
    "some_concerns": "#B8860B",
    "high": "#D55E00",
    "unclear": "#6f6f6f",
}

LINE_COLOURS = {
    "ai_older_men": PALETTE[0],
    "ai_boys": PALETTE[3],
    "estrogen_aromatase_deficiency": PALETTE[1],
    "other": "#6f6f6f",
}

#: Smallest type size (pt) any figure may print at; figures are drawn at the size they are
#: placed (:data:`analysis.report.build.PLACEMENT`), so this is the printed size too.
MIN_PRINT_PT = 7.0


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a ``#rrggbb`` colour."""
    h = colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


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
        plot_caption=element_text(
            size=max(base_size - 1, MIN_PRINT_PT), ha="left", color="#444444"
        ),
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
