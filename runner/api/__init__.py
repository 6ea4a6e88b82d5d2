"""One router per API the runner speaks: models (DMR's model management), openai, anthropic, ollama,
admin. Each translates its wire format to the tasks of runner/tasks.py and back."""
