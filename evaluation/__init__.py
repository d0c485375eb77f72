"""`batik eval`: retrieval, captioning and generation metrics with a protocol that cannot flatter."""
