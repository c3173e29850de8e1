//go:build !race

package httpgw

// largeRecords is the size of TestLargeNDJSONStream: about 100 MB.
const largeRecords = 1_000_000
