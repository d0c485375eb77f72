"""Print-ready export of a tile: the repeat laid out at a physical size and dpi (PNG, TIFF, PDF),
colourways, and the nitik dot grid (SVG). No HTTP here: the gateway's routes and `batik export`
call `engine.export_image` (or its two halves, `plan_page` and `render_export`)."""
