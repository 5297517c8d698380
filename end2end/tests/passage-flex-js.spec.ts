import { flexScenarios, passageFlexJs } from './flex-sdks';

// Passage's own browser SDK, @passageidentity/passage-flex-js 1.0.2, unchanged:
// its calls to Passage's host are routed to Latchkey, and every method works.
// The scenarios are those @latchkey/flex-js runs too (flex-js.spec.ts).
flexScenarios(passageFlexJs);
