//go:build race

package httpgw

// largeRecords is the size of TestLargeNDJSONStream: about 20 MB under the
// race detector, which slows the masking path tenfold.
const largeRecords = 200_000
