/**
 * Bounds on what an input file may make us build. Files come from the internet: a small file can describe a huge
 * or endlessly nested structure (shared references expand a 79 KB pickle into billions of values; a cycle never
 * ends). Readers check these bounds before they build, so that a hostile file ends in a one-line error naming it,
 * in bounded time and memory.
 */

/** Values (containers and leaves, each shared reference counted every time it is reached) one conversion may visit. */
export const MAX_EXPANDED_VALUES = 100_000;
/** Nesting depth of converted values (static kwargs, module attributes, JSON metadata). */
export const MAX_NESTING = 64;

/**
 * Counts the values a recursive conversion visits and the depth it reaches, and throws
 * `<where>: <what> … too large / too deeply nested` when either passes its bound.
 */
export class ExpansionBudget {
  private visited = 0;

  constructor(
    private readonly where: string,
    private readonly what: string,
    private readonly maxValues = MAX_EXPANDED_VALUES,
    private readonly maxDepth = MAX_NESTING,
  ) {}

  /** Called once per value reached at `depth` (0 for the root). */
  visit(depth: number): void {
    if (depth > this.maxDepth) {
      throw new Error(`${this.where}: ${this.what} nest more than ${this.maxDepth} levels deep (a cycle or a depth bomb)`);
    }
    if (++this.visited > this.maxValues) {
      throw new Error(`${this.where}: ${this.what} expand to more than ${this.maxValues} values (shared references or an expansion bomb)`);
    }
  }
}
