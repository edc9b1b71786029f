/**
 * The error of a shape rule, at compile time and at run time.
 *
 * - At run time every rule of {@link Shape} throws a `ShapeError` whose `message` starts with the same text
 *   the type-level rule produces, then adds the shapes involved and how to fix it.
 * - At compile time a rule that fails evaluates to `ShapeError<"...message...">`: the literal message type
 *   makes different errors distinct types, and no tensor is ever assignable to it, so intersecting it into a
 *   parameter (`Shape.Check`) turns the rule's failure into a compile error that shows the message.
 *
 * @since 0.1.0
 */

/**
 * A shape error: thrown by the runtime rules, and the compile-time result of a failing type-level rule.
 *
 * @example
 * ```ts
 * import { Shape, ShapeError } from "@typegrad/shape"
 * try {
 *   Shape.broadcast([2, 3], [4], "add")
 * } catch (e) {
 *   if (e instanceof ShapeError) console.log(e.op, e.summary) // "add" "add: cannot broadcast [2, 3] with [4]"
 * }
 * type E = Shape.Broadcast<[2, 3], [4], "add"> // ShapeError<"add: cannot broadcast [2, 3] with [4]">
 * ```
 * @since 0.1.0
 */
export class ShapeError<Msg extends string = string> extends Error {
  /** The operation that failed, e.g. `"conv2d"`. */
  readonly op: string
  /** The part of the message that the type-level rule also produces (the start of `message`). */
  readonly summary: Msg
  /** Phantom brand: keeps `ShapeError<"a">` and `ShapeError<"b">` apart at compile time. */
  declare readonly "~message": Msg

  constructor(op: string, summary: Msg, detail: string = "") {
    super(summary + detail)
    this.name = "ShapeError"
    this.op = op
    this.summary = summary
  }
}
