// Decimal-string arithmetic on canonical digit strings ("0", "42", "16777216": no sign, no leading zeros).
// Every loop is tail-recursive (the recursive reference sits directly in a conditional branch), so the
// depth is the number of digits, and each digit step is a lookup in the tables of ./tables.ts.
import type { AddTable, CmpTable, MulTable, SubTable } from "./tables.ts"

/** A decimal digit. */
export type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"

/** Reverses a string. */
export type Rev<S extends string, Acc extends string = ""> = S extends `${infer H}${infer T}` ? Rev<T, `${H}${Acc}`>
  : Acc

/** Removes leading zeros ("007" -> "7", "000" -> "0"). */
export type Strip<S extends string> = S extends `0${infer R}` ? (R extends "" ? "0" : Strip<R>) : S

/** `true` when the number literal `N` is a non-negative integer (its decimal form has only digits). */
export type IsNatLit<N extends number> = `${N}` extends `-${string}` ? false
  : `${N}` extends `${bigint}` ? true
  : false

/** Canonical digit string -> number literal. */
export type ToNum<S extends string> = S extends `${infer N extends number}` ? N : never

// Addition on reversed operands; the result is built most-significant first.
type AddRev<A extends string, B extends string, C extends 0 | 1, Acc extends string> = A extends
  `${infer a extends Digit}${infer AT}` ?
  B extends `${infer b extends Digit}${infer BT}`
    ? AddTable[a][b][C] extends `${infer D}${infer C2 extends 0 | 1}` ? AddRev<AT, BT, C2, `${D}${Acc}`> : never
  : AddTable[a]["0"][C] extends `${infer D}${infer C2 extends 0 | 1}` ? AddRev<AT, "", C2, `${D}${Acc}`>
  : never
  : B extends `${infer b extends Digit}${infer BT}`
    ? AddTable["0"][b][C] extends `${infer D}${infer C2 extends 0 | 1}` ? AddRev<"", BT, C2, `${D}${Acc}`> : never
  : C extends 1 ? `1${Acc}`
  : Acc

/** Sum of two canonical digit strings. */
export type AddS<A extends string, B extends string> = AddRev<Rev<A>, Rev<B>, 0, "">

// Subtraction on reversed operands (A >= B in length); a final borrow means the result is negative.
type SubRev<A extends string, B extends string, C extends 0 | 1, Acc extends string> = A extends
  `${infer a extends Digit}${infer AT}` ?
  B extends `${infer b extends Digit}${infer BT}`
    ? SubTable[a][b][C] extends `${infer D}${infer C2 extends 0 | 1}` ? SubRev<AT, BT, C2, `${D}${Acc}`> : never
  : SubTable[a]["0"][C] extends `${infer D}${infer C2 extends 0 | 1}` ? SubRev<AT, "", C2, `${D}${Acc}`>
  : never
  : B extends "" ? (C extends 1 ? never : Strip<Acc>)
  : never

/** Difference `A - B` of canonical digit strings; `never` when negative. */
export type SubS<A extends string, B extends string> = SubRev<Rev<A>, Rev<B>, 0, "">

/** Difference `max(A - B, 0)` ("monus"). */
export type MonusS<A extends string, B extends string> = [SubS<A, B>] extends [never] ? "0" : SubS<A, B>

// Length comparison, then digit-wise comparison from the most significant digit.
type CmpLen<A extends string, B extends string> = A extends `${string}${infer AT}`
  ? B extends `${string}${infer BT}` ? CmpLen<AT, BT> : "gt"
  : B extends "" ? "eq"
  : "lt"
type CmpDigits<A extends string, B extends string> = A extends `${infer a extends Digit}${infer AT}`
  ? B extends `${infer b extends Digit}${infer BT}` ? CmpTable[a][b] extends "eq" ? CmpDigits<AT, BT> : CmpTable[a][b]
  : "eq"
  : "eq"

/** Compares canonical digit strings: "lt" | "eq" | "gt". */
export type CmpS<A extends string, B extends string> = CmpLen<A, B> extends "eq" ? CmpDigits<A, B> : CmpLen<A, B>

// A times one digit, on reversed A.
type MulDigitRev<A extends string, b extends Digit, C extends Digit, Acc extends string> = A extends
  `${infer a extends Digit}${infer AT}`
  ? MulTable[a][b][C] extends `${infer D}${infer C2 extends Digit}` ? MulDigitRev<AT, b, C2, `${D}${Acc}`> : never
  : C extends "0" ? Acc
  : `${C}${Acc}`

// Schoolbook multiplication: Acc = Acc * 10 + A * b for each digit b of B (most significant first).
type MulLoop<RA extends string, B extends string, Acc extends string> = B extends
  `${infer b extends Digit}${infer BT}` ? MulLoop<RA, BT, AddS<Strip<`${Acc}0`>, Strip<MulDigitRev<RA, b, "0", "">>>>
  : Acc

/** Product of two canonical digit strings. */
export type MulS<A extends string, B extends string> = A extends "0" ? "0"
  : B extends "0" ? "0"
  : MulLoop<Rev<A>, B, "0">

type Inc = { "0": "1"; "1": "2"; "2": "3"; "3": "4"; "4": "5"; "5": "6"; "6": "7"; "7": "8"; "8": "9"; "9": "9" }

// How many times B fits into R (at most 9 in long division): [digit, remainder].
type QuotDigit<R extends string, B extends string, Q extends Digit> = CmpS<R, B> extends "lt" ? [Q, R]
  : QuotDigit<SubS<R, B>, B, Inc[Q]>

type DivLoop<A extends string, B extends string, R extends string, Q extends string> = A extends
  `${infer d extends Digit}${infer AT}`
  ? QuotDigit<Strip<`${R}${d}`>, B, "0"> extends [infer q extends Digit, infer R2 extends string]
    ? DivLoop<AT, B, R2, `${Q}${q}`>
  : never
  : [Strip<Q>, R]

/** Long division of canonical digit strings: `[floor(A / B), A mod B]`; `never` when B is "0". */
export type DivModS<A extends string, B extends string> = B extends "0" ? never : DivLoop<A, B, "0", "">
