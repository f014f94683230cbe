package fleet

// MaxIdleWorkers is maxIdleWorkers, for the tests of the service's workers.
const MaxIdleWorkers = maxIdleWorkers
