"""The public status page: components, published incident updates, history and an Atom feed."""
