// Package sui is the chain backend on Sui, over Walrus's own Move package.
package sui
