/**
 * What `edgesbc import` has to tell the operator, gathered while it reads a Kamailio config:
 * statements it could not translate, notes on its choices, and settings it left out on purpose.
 */

/** The importer's findings, filled in by every step and written at the top of the TOML. */
export interface ImportState {
  /** Statements with no edgesbc equivalent. */
  readonly untranslated: string[];
  /** Choices and doubts worth an operator's attention. */
  readonly notes: string[];
  /** Settings read and deliberately left out (tuning with no equivalent), shown as a comment. */
  readonly ignored: string[];
}
