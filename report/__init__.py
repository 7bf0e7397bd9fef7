"""The radar report: one self-contained HTML page from the warehouse (SPEC section 4).

`write_radar_report(warehouse_dir)` writes `<warehouse>/radar.html`; `report.data` holds the
queries behind every figure, `report.render` the page.
"""

from report.render import write_radar_report

__all__ = ["write_radar_report"]
