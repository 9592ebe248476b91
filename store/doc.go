// Package store is the node's persistence layer and the only package that
// imports Pebble.
package store
