// Package table implements Postfix lookup tables, opened from "type:name" (see Open).
package table
