// Package exchange is the file formats of a group's issues, in one place: what
// an import reads (pasted spreadsheet cells, a CSV file, Jira's export) into
// rows the store checks and adds, and what an export writes (CSV for
// spreadsheets, JSON for programs). It imports the store's types; the store and
// the web layer know nothing of CSV or JSON.
package exchange
