type Shape = readonly number[];
type Pair = readonly [number, number];
/** Renders a value the way `ShowValue` does at type level. */
export declare const showValue: (v: unknown) => string;
export declare const show: (s: Shape) => string;
export declare const fail: (op: string, summary: string, detail?: string) => never;
/** Checks that `s` is an array of non-negative integers. */
export declare const checkShape: (s: unknown, op: string, what?: string) => Shape;
export declare const size: (s: Shape) => number;
export declare const normalizeAxis: (rank: number, axis: number, op?: string) => number;
export declare const broadcast: (a: Shape, b: Shape, op?: string) => Shape;
export declare const matmul: (a: Shape, b: Shape, op?: string) => Shape;
/** The geometry of a 2d convolution or pooling window. */
export interface Geometry2d {
    readonly batch: number;
    readonly inH: number;
    readonly inW: number;
    readonly inC: number;
    readonly outH: number;
    readonly outW: number;
    readonly outC: number;
    readonly kh: number;
    readonly kw: number;
    readonly strideH: number;
    readonly strideW: number;
    readonly dilationH: number;
    readonly dilationW: number;
    readonly padTop: number;
    readonly padBottom: number;
    readonly padLeft: number;
    readonly padRight: number;
    readonly outShape: readonly [number, number, number, number];
}
export interface Conv2dOpts {
    readonly strides?: number | Pair;
    readonly padding?: "valid" | "same" | number | Pair | readonly [Pair, Pair];
    readonly dilation?: number | Pair;
}
export declare const conv2dGeometry: (x: Shape, w: Shape, options?: Conv2dOpts, op?: string) => Geometry2d;
export interface Pool2dOpts {
    readonly poolSize: number | Pair;
    readonly strides?: number | Pair;
    readonly padding?: "valid" | "same";
}
export declare const pool2dGeometry: (x: Shape, options: Pool2dOpts, op?: string) => Geometry2d;
export declare const pad: (s: Shape, paddings: ReadonlyArray<Pair>, op?: string) => Shape;
export declare const reshape: (s: Shape, t: Shape, op?: string) => Shape;
export declare const flatten: (s: Shape, op?: string) => Shape;
export declare const concat: (shapes: ReadonlyArray<Shape>, axis: number, op?: string) => Shape;
export declare const reduce: (s: Shape, axes: number | ReadonlyArray<number> | undefined, keepDims?: boolean, op?: string) => Shape;
export declare const transpose: (s: Shape, perm?: ReadonlyArray<number>, op?: string) => Shape;
export declare const conv2d: (x: Shape, w: Shape, options?: Conv2dOpts, op?: string) => Shape;
export declare const pool2d: (x: Shape, options: Pool2dOpts, op?: string) => Shape;
export {};
