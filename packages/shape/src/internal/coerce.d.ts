/**
 * Gives a runtime result the static type its type-level rule computed. This is the one cast of the package:
 * the runtime twins compute the same value the type-level rules describe (test/typeLevelAgreement.test.ts
 * checks it on generated cases), which TypeScript cannot see.
 */
export declare const coerce: <T>(value: unknown) => T;
