// The nn API with no model: what importing the packages costs to type-check. The layer and model modules
// are imported directly, not through ../src/index.ts, because the index also re-exports the reference
// models (../src/Reference.ts), whose cost models.ts measures.
import * as Layer from "../src/Layer.ts"
import * as Model from "../src/Model.ts"

export const model = Model.input([4]).add(Layer.dense({ units: 2 }))
