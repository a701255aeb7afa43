/**
 * Problems with individual images (unreadable, corrupt, wrong size, missing label, …), collected while a dataset
 * is created or opened so that one error can name every bad file, or the bad files can be skipped.
 */

export interface ImageProblem {
  /** The image's name: its relative path in the source, or `file[index]` for IDX sources. */
  name: string;
  /** What is wrong, without the name. */
  reason: string;
}

/** How many bad files an error message lists by name. */
export const PROBLEMS_LISTED = 5;

/** An error caused by bad images; `problems` lists all of them. */
export class DatasetError extends Error {
  constructor(
    message: string,
    readonly problems: readonly ImageProblem[],
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** `name: reason` lines for the first few problems, and how many more there are. */
export function listProblems(problems: readonly ImageProblem[]): string {
  const lines = problems.slice(0, PROBLEMS_LISTED).map((p) => `  ${p.name}: ${p.reason}`);
  if (problems.length > PROBLEMS_LISTED) lines.push(`  … and ${problems.length - PROBLEMS_LISTED} more`);
  return lines.join('\n');
}

/** Splits an error thrown for a named image into a problem (drops a leading `name: ` from the message). */
export function problemFromError(name: string, err: unknown): ImageProblem {
  const message = err instanceof Error ? err.message : String(err);
  return { name, reason: message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message };
}
