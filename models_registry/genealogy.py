"""Layout of a line's version tree and of overlaid loss curves, drawn as inline SVG."""

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 180, 70, 30, 40, 20  # wide enough for "v12 ★ active" and "run 12345"


def tree_layout(versions) -> dict:
    """Place versions by generation (rows) and birth order (columns); edges run parent -> child."""
    by_id = {v.pk: v for v in versions}
    depth = {}

    def depth_of(v, seen=()):
        if v.pk not in depth:
            parent = by_id.get(v.parent_id)
            depth[v.pk] = 0 if parent is None or parent.pk in seen else depth_of(parent, (*seen, v.pk)) + 1
        return depth[v.pk]

    columns: dict[int, int] = {}
    nodes = []
    for v in sorted(versions, key=lambda v: v.number):
        d = depth_of(v)
        col = columns.get(d, 0)
        columns[d] = col + 1
        nodes.append({"version": v, "x": PAD + col * (NODE_W + GAP_X), "y": PAD + d * (NODE_H + GAP_Y)})
    pos = {n["version"].pk: n for n in nodes}
    edges = [{"x1": pos[n["version"].parent_id]["x"] + NODE_W // 2, "y1": pos[n["version"].parent_id]["y"] + NODE_H,
              "x2": n["x"] + NODE_W // 2, "y2": n["y"]}
             for n in nodes if n["version"].parent_id in pos]
    width = PAD * 2 + max(columns.values(), default=1) * (NODE_W + GAP_X)
    height = PAD * 2 + max(len(columns), 1) * (NODE_H + GAP_Y)
    return {"nodes": nodes, "edges": edges, "width": width, "height": height, "node_w": NODE_W, "node_h": NODE_H}


def overlay(curves: dict[str, list], width=640, height=260, pad=36) -> dict:
    """Scale several [[step, value], ...] series into one SVG box; returns polylines and axis labels."""
    points = [p for series in curves.values() for p in series]
    if not points:
        return {"lines": [], "width": width, "height": height}
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (width - 2 * pad) / ((x1 - x0) or 1)
    sy = (height - 2 * pad) / ((y1 - y0) or 1)
    lines = [{"name": name, "points": " ".join(f"{pad + (s - x0) * sx:.1f},{height - pad - (v - y0) * sy:.1f}"
                                               for s, v in series)}
             for name, series in curves.items() if series]
    return {"lines": lines, "width": width, "height": height, "x0": x0, "x1": x1, "y0": f"{y0:.3g}",
            "y1": f"{y1:.3g}"}
