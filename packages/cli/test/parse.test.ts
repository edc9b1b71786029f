import { Cifar10, Cli, Mnist } from "@typegrad/cli"
import { describe, expect, it } from "vitest"

const train = (...flags: Array<string>) => {
  const c = Cli.parse(["train", "mnist", ...flags])
  if (c._tag !== "TrainMnist") throw new Error(`expected TrainMnist, got ${c._tag}`)
  return c
}

/** The UsageError thrown for `argv`. */
const usageError = (argv: Array<string>): Cli.UsageError => {
  try {
    Cli.parse(argv)
  } catch (e) {
    expect(e).toBeInstanceOf(Cli.UsageError)
    expect((e as Error).name).toBe("UsageError")
    return e as Cli.UsageError
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`)
}

describe("Cli.parse", () => {
  it("train mnist without flags gives the defaults", () => {
    const c = train()
    expect(c.options).toEqual(Mnist.defaults)
    expect(c.progress).toBeUndefined()
    expect(Mnist.defaults).toMatchObject({
      epochs: 4,
      batchSize: 64,
      learningRate: 1e-3,
      learningRateDecay: 0.7,
      optimizer: "adam",
      validation: 5000,
      seed: 1,
      out: "runs/mnist"
    })
    expect(Mnist.defaults.trainLimit).toBeUndefined()
    expect(Mnist.defaults.resume).toBeUndefined()
  })

  it("reads every flag", () => {
    const c = train(
      "--epochs",
      "7",
      "--batch-size",
      "24",
      "--learning-rate",
      "0.05",
      "--lr-decay",
      "1",
      "--optimizer",
      "momentum",
      "--train-limit",
      "1000",
      "--validation",
      "0",
      "--seed",
      "0",
      "--out",
      "some/dir",
      "--resume",
      "old/dir",
      "--progress",
      "lines"
    )
    expect(c.options).toEqual({
      epochs: 7,
      batchSize: 24,
      learningRate: 0.05,
      learningRateDecay: 1,
      optimizer: "momentum",
      trainLimit: 1000,
      validation: 0,
      seed: 0,
      out: "some/dir",
      resume: "old/dir"
    })
    expect(c.progress).toBe("lines")
  })

  it("accepts --flag=value, flags before the command, each optimizer and progress mode, and exponent learning rates", () => {
    expect(Cli.parse(["--epochs=2", "train", "mnist"])).toMatchObject({ options: { epochs: 2 } })
    for (const optimizer of ["adam", "sgd", "momentum", "rmsprop"]) {
      expect(train("--optimizer", optimizer).options.optimizer).toBe(optimizer)
    }
    for (const progress of ["bar", "lines", "none"]) expect(train("--progress", progress).progress).toBe(progress)
    expect(train("--learning-rate", "3e-4").options.learningRate).toBe(3e-4)
  })

  it("--resume without --out writes into the resumed directory", () => {
    expect(train("--resume", "runs/a").options).toMatchObject({ resume: "runs/a", out: "runs/a" })
    expect(train("--resume", "runs/a", "--out", "runs/b").options).toMatchObject({ resume: "runs/a", out: "runs/b" })
  })

  it("--help and -h ask for help, even with other arguments", () => {
    expect(Cli.parse(["--help"])).toEqual({ _tag: "Help" })
    expect(Cli.parse(["-h"])).toEqual({ _tag: "Help" })
    expect(Cli.parse(["train", "mnist", "--help"])).toEqual({ _tag: "Help" })
  })

  it.each([
    [["train", "mnist", "--epoch", "3"], "--epoch"],
    [["train", "mnist", "-x"], "-x"],
    [["train", "mnist", "--epochs"], "--epochs"],
    [["train", "mnist", "--out"], "--out"],
    [["train", "mnist", "--epochs", "1.5"], "--epochs"],
    [["train", "mnist", "--lr-decay", "0"], "--lr-decay"],
    [["train", "mnist", "--lr-decay", "1.5"], "--lr-decay"],
    [["train", "mnist", "--lr-decay", "fast"], "--lr-decay"],
    [["train", "mnist", "--epochs", "two"], "--epochs"],
    [["train", "mnist", "--epochs", "0"], "--epochs"],
    [["train", "mnist", "--epochs", "-1"], "--epochs"],
    [["train", "mnist", "--epochs=-1"], "--epochs"],
    [["train", "mnist", "--epochs", "1e3"], "--epochs"],
    [["train", "mnist", "--epochs", "99999999999999999999"], "--epochs"],
    [["train", "mnist", "--batch-size", "0"], "--batch-size"],
    [["train", "mnist", "--train-limit", "0"], "--train-limit"],
    [["train", "mnist", "--validation", "-5"], "--validation"],
    [["train", "mnist", "--seed", "x"], "--seed"],
    [["train", "mnist", "--learning-rate", "abc"], "--learning-rate"],
    [["train", "mnist", "--learning-rate", "0"], "--learning-rate"],
    [["train", "mnist", "--learning-rate=-0.1"], "--learning-rate"],
    [["train", "mnist", "--learning-rate", "Infinity"], "--learning-rate"],
    [["train", "mnist", "--learning-rate", " "], "--learning-rate"],
    [["train", "mnist", "--optimizer", "adamw"], "--optimizer"],
    [["train", "mnist", "--progress", "fancy"], "--progress"],
    [["train", "mnist", "--out", ""], "--out"],
    [["train", "mnist", "--resume", " "], "--resume"],
    [["train", "mnist", "--help=yes"], "--help"]
  ])("%j is a UsageError naming %s", (argv, flag) => {
    const e = usageError(argv)
    expect(e.message).toContain(flag)
  })

  // Regression (issue 11, item 11): `--epochs -1` got Node's "argument is ambiguous" from util.parseArgs
  // instead of our message; every numeric flag now says what it needs.
  it.each([
    ["--epochs", "-1", "--epochs must be an integer >= 1, got \"-1\""],
    ["--batch-size", "-64", "--batch-size must be an integer >= 1, got \"-64\""],
    ["--train-limit", "-5", "--train-limit must be an integer >= 1, got \"-5\""],
    ["--validation", "-5", "--validation must be an integer >= 0, got \"-5\""],
    ["--seed", "-3", "--seed must be an integer >= 0, got \"-3\""],
    ["--learning-rate", "-0.1", "--learning-rate must be a positive number, got \"-0.1\""],
    ["--learning-rate", "-.5", "--learning-rate must be a positive number, got \"-.5\""],
    ["--lr-decay", "-1e-3", "--lr-decay must be a number in (0, 1], got \"-1e-3\""],
    ["--epochs", "-Infinity", "--epochs must be an integer >= 1, got \"-Infinity\""]
  ])("%s %s (a negative number) gets our message", (flag, value, message) => {
    expect(usageError(["train", "mnist", flag, value]).message).toBe(message)
    expect(usageError(["train", "mnist", `${flag}=${value}`]).message).toBe(message)
  })

  it("a flag followed by another flag is still a missing value", () => {
    expect(usageError(["train", "mnist", "--epochs", "--seed", "1"]).message).toContain("--epochs")
  })

  it("bad values are quoted in the message", () => {
    expect(usageError(["train", "mnist", "--optimizer", "adamw"]).message).toContain("\"adamw\"")
    expect(usageError(["train", "mnist", "--learning-rate", "abc"]).message).toContain("\"abc\"")
    expect(usageError(["train", "mnist", "--epochs", "1.5"]).message).toContain("\"1.5\"")
  })

  it("rejects a missing, unknown or extra command", () => {
    expect(usageError([]).message).toMatch(/train mnist/)
    expect(usageError(["fit", "mnist"]).message).toContain("fit")
    expect(usageError(["train"]).message).toMatch(/mnist/)
    expect(usageError(["train", "cifar"]).message).toContain("cifar")
    expect(usageError(["train", "cifar"]).message).toContain("`mnist` and `cifar10` are available")
    expect(usageError(["train", "mnist", "extra"]).message).toContain("extra")
  })

  it("train cifar10 --data DIR gives the CIFAR-10 defaults and reads every flag", () => {
    const c = Cli.parse(["train", "cifar10", "--data", "cifar-10-batches-bin"])
    expect(c).toEqual({
      _tag: "TrainCifar10",
      options: { ...Cifar10.defaults, data: "cifar-10-batches-bin" },
      progress: undefined,
      threads: undefined
    })
    expect(Cifar10.defaults).toMatchObject({ epochs: 10, batchSize: 128, out: "runs/cifar10", validation: 5000 })
    const d = Cli.parse([
      "train",
      "cifar10",
      "--data=d",
      "--epochs",
      "3",
      "--batch-size",
      "16",
      "--learning-rate",
      "0.1",
      "--train-limit",
      "200",
      "--validation",
      "0",
      "--seed",
      "9",
      "--out",
      "o",
      "--threads",
      "1",
      "--progress",
      "lines"
    ])
    expect(d).toEqual({
      _tag: "TrainCifar10",
      options: {
        ...Cifar10.defaults,
        data: "d",
        epochs: 3,
        batchSize: 16,
        learningRate: 0.1,
        trainLimit: 200,
        validation: 0,
        seed: 9,
        out: "o"
      },
      progress: "lines",
      threads: 1
    })
  })

  it("--data is required by train cifar10, and only taken by it", () => {
    expect(usageError(["train", "cifar10"]).message).toMatch(/`train cifar10` needs --data DIR: .*data_batch_1\.bin/)
    expect(usageError(["train", "cifar10", "--data", " "]).message).toContain("needs --data DIR")
    expect(usageError(["train", "mnist", "--data", "d"]).message).toContain("--data is a flag of `train cifar10`")
    expect(usageError(["export", "onnx", "--data", "d"]).message).toContain("--data is not a flag of `export onnx`")
    expect(usageError(["train", "cifar10", "--data", "d", "--checkpoint", "c"]).message).toContain(
      "`train cifar10` continues from a checkpoint with --resume DIR"
    )
  })

  it("the usage text documents every flag", () => {
    for (
      const flag of [
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--optimizer",
        "--train-limit",
        "--validation",
        "--seed",
        "--out",
        "--resume",
        "--progress",
        "--threads",
        "--data",
        "--help"
      ]
    ) {
      expect(Cli.usage).toContain(flag)
    }
    expect(Cli.usage).toMatch(/^usage: typegrad train mnist/)
    expect(Cli.usage).toContain("typegrad train cifar10 --data DIR [options]")
  })
})
