import { useState } from 'react';

const STATE_OF: Record<string, string> = { U: 'SUBMITTED', P: 'PENDING', Q: 'RUNNABLE', T: 'STARTING', R: 'RUNNING', S: 'SUCCEEDED', F: 'FAILED' };

/**
 * Every child of an array, one cell per index coloured by its state (the server sends one
 * letter per index, children not yet created included). A cell links to the child's detail;
 * with thousands of cells they are not tab stops: the index box goes to any child by number.
 */
export function ArrayGrid({ parentId, states }: { parentId: string; states: string }) {
  const [index, setIndex] = useState('');
  const size = states.length;
  return (
    <div>
      <div className="grid" data-testid="array-grid">
        {Array.from(states, (letter, i) => (
          <a key={i} href={`#/jobs/${parentId}:${i}`} tabIndex={-1} className={`cell bg-${STATE_OF[letter]}`} title={`index ${i}: ${STATE_OF[letter]}`} data-state={STATE_OF[letter]} />
        ))}
      </div>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const n = Number(index);
          if (Number.isInteger(n) && n >= 0 && n < size) location.hash = `#/jobs/${parentId}:${n}`;
        }}
      >
        <label>
          Go to index <input type="number" min={0} max={size - 1} value={index} onChange={(e) => setIndex(e.target.value)} style={{ width: '7em' }} />
        </label>
        <button type="submit">Open</button>
      </form>
    </div>
  );
}
