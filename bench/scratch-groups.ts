import { requestGpu } from '../src/index.ts';
import { timePopulationGroups } from './sections/population-groups.ts';
const gpu = await requestGpu();
const sizes = process.argv[2] === 'large' ? 'large' : 'default';
const r = await timePopulationGroups(gpu, { reps: 5, sizes, detail: false, peers: {}, log: (l) => console.log(l) });
console.log(JSON.stringify(r));
process.exit(0);
