"""Voice analysis: audio in, voice activity, utterances and speakers, transcript, features, scores."""
