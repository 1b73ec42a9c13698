import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { errorMessage } from '../errors';

interface Props {
  title: string;
  /** The search box's label (its placeholder too). */
  searchLabel: string;
  search: string;
  onSearch: (search: string) => void;
  /** The results list's accessible name. */
  resultsLabel: string;
  /** The results, as list items. */
  children: ReactNode;
  error: CombinedError | undefined;
}

/** A side panel that finds something by name and lists what it found, each with its action. */
export function SearchPanel({ title, searchLabel, search, onSearch, resultsLabel, children, error }: Props) {
  return (
    <section className="panel">
      <h2>{title}</h2>
      <input type="search" aria-label={searchLabel} placeholder={searchLabel} value={search} onChange={(event) => onSearch(event.target.value)} />
      <ul aria-label={resultsLabel} className="results">
        {children}
      </ul>
      {error && <p role="alert">{errorMessage(error)}</p>}
    </section>
  );
}
