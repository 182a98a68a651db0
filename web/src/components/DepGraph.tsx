export interface Graph {
  nodes: { id: string; name: string; status: string; arraySize: number | null }[];
  edges: { from: string; to: string; type: string | null }[];
  truncated: boolean;
}

const W = 170;
const H = 44;
const GAP_X = 60;
const GAP_Y = 16;

/**
 * The dependency neighbourhood left to right (render → stitch): each job in the column of
 * its longest chain of dependencies within the neighbourhood. Nodes link to their detail.
 */
export function DepGraph({ graph, current }: { graph: Graph; current: string }) {
  const ids = graph.nodes.map((n) => n.id);
  const col = new Map<string, number>(ids.map((id) => [id, 0]));
  // longest path layering; the neighbourhood is small (≤ 60 jobs) and acyclic
  for (let pass = 0; pass < ids.length; pass++) {
    let changed = false;
    for (const e of graph.edges) {
      const c = (col.get(e.from) ?? 0) + 1;
      if (c > (col.get(e.to) ?? 0)) {
        col.set(e.to, c);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  const pos = new Map<string, { x: number; y: number }>();
  for (const n of graph.nodes) {
    const c = col.get(n.id) ?? 0;
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    pos.set(n.id, { x: 8 + c * (W + GAP_X), y: 8 + r * (H + GAP_Y) });
  }
  const width = 16 + (Math.max(0, ...col.values()) + 1) * (W + GAP_X) - GAP_X;
  const height = 16 + Math.max(1, ...rows.values()) * (H + GAP_Y) - GAP_Y;
  return (
    <div className="graphbox">
      <svg width={width} height={height} role="img" aria-label="dependency graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#7b8794" />
          </marker>
        </defs>
        {graph.edges.map((e) => {
          const a = pos.get(e.from);
          const b = pos.get(e.to);
          if (!a || !b) return null;
          const x1 = a.x + W;
          const y1 = a.y + H / 2;
          const x2 = b.x;
          const y2 = b.y + H / 2;
          const mx = (x1 + x2) / 2;
          return <path key={`${e.from}>${e.to}`} d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`} className="edge" markerEnd="url(#arrow)" />;
        })}
        {graph.nodes.map((n) => {
          const p = pos.get(n.id)!;
          return (
            <a key={n.id} href={`#/jobs/${n.id}`}>
              <rect x={p.x} y={p.y} width={W} height={H} rx={6} className={`node fill-${n.status} ${n.id === current ? 'current' : ''}`} />
              <text x={p.x + 10} y={p.y + 18} className="nodename">
                {n.name.length > 20 ? n.name.slice(0, 19) + '…' : n.name}
                {n.arraySize ? ` [${n.arraySize}]` : ''}
              </text>
              <text x={p.x + 10} y={p.y + 35} className="nodestate">
                {n.status}
              </text>
            </a>
          );
        })}
      </svg>
      {graph.truncated && <p className="muted small">Only the nearest 60 jobs are shown.</p>}
    </div>
  );
}
