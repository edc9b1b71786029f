/**
 * `@typegrad/cli`: the `typegrad` command.
 *
 * @example
 * ```sh
 * pnpm typegrad train mnist --epochs 2 --out runs/mnist
 * ```
 *
 * @since 0.1.0
 */
export * as Cifar10 from "./Cifar10Job.ts"
export * as Cli from "./Cli.ts"
export * as Mnist from "./MnistJob.ts"
