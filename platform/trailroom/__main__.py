from trailroom.cli import main

main()
