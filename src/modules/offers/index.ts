export { INTEREST_SWEEP_MS, INTEREST_SWEEP_TIMER, OffersService, OFFER_CLOSE_TIMER, resolveDeadline, type AnswerResult } from './offers.service.js';
export { offersRoutes } from './offers.routes.js';
export { candidatesByTerms, termRows } from './offers.repo.js';
export { compilePredicate, interestTerms, offerTerms, storedInterestMatches } from './predicate.js';
