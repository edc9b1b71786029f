/** Exact type equality (distinguishes `readonly` and `any`). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
/** Compile-time assertion. */
export type Expect<T extends true> = T
