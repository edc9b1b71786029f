// The nn API with no model: what importing the packages costs to type-check.
import { Layer, Model } from "../src/index.ts"

export const model = Model.input([4]).add(Layer.dense({ units: 2 }))
