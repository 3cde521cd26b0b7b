from edgetrack.cli.app import main

main()
