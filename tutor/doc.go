// Package tutor is the AI tutor's core: the Provider interface and its Gemini
// implementation, the safety checks every message in and out passes, the
// system prompt built from a student's coursework, and the Service that ties
// them together for an HTTP handler to stream. It holds no database or HTTP
// handler code: the caller loads the student's context and history, enforces
// the daily limit (DailyLimit), and stores the exchange.
//
// # Streaming and safety
//
// A question that fails CheckInput never reaches the provider; the refusal is
// the answer. An answer is checked with CheckOutput before each chunk is
// passed on, on the whole answer so far, so the chunk that would make it
// unsafe is never sent. For under-13s the answer is buffered whole, checked,
// stripped of links and sent once: nothing unchecked ever reaches a young
// child. Older students see chunks as they arrive; if the answer turns unsafe
// part-way, Ask stops reading and reports it Withheld, and the caller replaces
// what was shown with AskResult.Text. The model's own filter (Gemini safety
// settings at BLOCK_MEDIUM_AND_ABOVE) is a second line behind these checks.
//
// # Wiring into an SSE handler
//
// Start the event stream lazily, on the first emitted chunk: errors Ask
// returns before emitting (ENOTCONFIG, EINVALID, EUNAVAILABLE before any
// text) can then still be answered as ordinary JSON errors with the right
// status. See the package example.
package tutor
