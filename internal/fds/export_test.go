package fds

// Walk is the fallback for kernels without CLOSE_RANGE_CLOEXEC.
var Walk = walk
