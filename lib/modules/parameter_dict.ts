/**
 * nn.ParameterDict: named parameters with an optimiser, for anything whose gradients are computed
 * elsewhere (setGradients, then step()), e.g. a small head trained from Node.
 */
import type { Device } from '../types';
import { ParameterModule } from './module';
import { deviceOption, knownKeys, optimizerSpec, parameterValues, type OptimizerOptions, type ParameterInput } from './options';

export interface ParameterDictOptions {
  /** Where the parameters live (default 'cpu'). */
  device?: Device;
  /** Default { type: 'sgd' } with a required `lr`. */
  optimizer?: OptimizerOptions;
}

export class ParameterDict extends ParameterModule {
  constructor(parameters: Record<string, ParameterInput>, options?: ParameterDictOptions) {
    const o = knownKeys('ParameterDict', options, ['device', 'optimizer']);
    const values = parameterValues('ParameterDict', parameters);
    super({ kind: 'dict', device: deviceOption(o.device), ...optimizerSpec(o.optimizer) });
    for (const [name, value] of Object.entries(values)) this.native.addParameter(name, value);
  }
}
